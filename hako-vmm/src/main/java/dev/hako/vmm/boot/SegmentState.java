package dev.hako.vmm.boot;

/**
 * A segment register as the CPU holds it after a load: the visible selector and the hidden base, limit and
 * attributes. {@code attributes} uses the descriptor's attribute bits as Intel SDM Vol. 3A 3.4.5 lays them out,
 * shifted down by 40 (the VMX "access rights" format): bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 13 L,
 * 14 D/B, 15 G. {@code limit} is the effective byte limit (already scaled by G).
 */
public record SegmentState(int selector, long base, long limit, int attributes) {
    public static final int TYPE_MASK = 0xF;
    public static final int S = 1 << 4;
    public static final int P = 1 << 7;
    public static final int L = 1 << 13;
    public static final int DB = 1 << 14;
    public static final int G = 1 << 15;

    /** The hidden state a load of {@code selector} from a GDT holding {@code descriptor} produces. */
    public static SegmentState fromDescriptor(int selector, long descriptor) {
        long base = ((descriptor >>> 16) & 0xFF_FFFFL) | ((descriptor >>> 32) & 0xFF00_0000L);
        long rawLimit = (descriptor & 0xFFFFL) | ((descriptor >>> 32) & 0xF_0000L);
        int attributes = (int) ((descriptor >>> 40) & 0xF0FF);
        long limit = (attributes & G) != 0 ? (rawLimit << 12) | 0xFFF : rawLimit;
        return new SegmentState(selector, base, limit, attributes);
    }

    public int type() {
        return attributes & TYPE_MASK;
    }

    public int dpl() {
        return (attributes >>> 5) & 3;
    }

    public boolean present() {
        return (attributes & P) != 0;
    }

    public boolean longMode() {
        return (attributes & L) != 0;
    }

    public boolean defaultBig() {
        return (attributes & DB) != 0;
    }

    public boolean granularity() {
        return (attributes & G) != 0;
    }
}
