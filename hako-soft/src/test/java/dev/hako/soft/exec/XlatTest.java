package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * XLAT's segments and address sizes, which the host oracle cannot vary: an FS or GS override in 64-bit mode,
 * and 16-bit code, where BX + AL wraps at 64 KiB inside DS or the override's segment.
 */
class XlatTest {
    private static final long CODE = 0x1000;

    private Cpu cpu;
    private Interpreter interpreter;

    @BeforeEach
    void setUp() {
        MemorySegment ram = Arena.ofAuto().allocate(0x40000, 4096);
        for (int a = 0; a < 0x40000; a++) {
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, a, (byte) (a ^ (a >>> 8) ^ (a >>> 16)));
        }
        cpu = new Cpu(new Mmu(ram, (gva, access) -> gva & -4096));
        interpreter = new Interpreter(cpu, (c, fault, in) -> {
            throw new AssertionError(fault.getMessage());
        });
    }

    private int expected(long address) {
        return (int) ((address ^ (address >>> 8) ^ (address >>> 16)) & 0xFF);
    }

    private void run(long linear, String hex) {
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        cpu.mem.writeBytes(linear, code, 0, code.length);
        interpreter.step();
    }

    @Test
    void fsOverrideAddsTheFsBase() {
        cpu.fsBase = 0x20000;
        cpu.r[Cpu.RBX] = 0x1F0;
        cpu.r[Cpu.RAX] = 0x1234_5690;
        cpu.rip = CODE;
        run(CODE, "64 d7");
        assertThat(cpu.r[Cpu.RAX]).isEqualTo(0x1234_5600 | expected(0x20000 + 0x1F0 + 0x90));
        assertThat(cpu.rip).isEqualTo(CODE + 2);
    }

    @Test
    void sixteenBitCodeWrapsBxPlusAlInDsOrEs() {
        cpu.mode = Cpu.MODE_16;
        cpu.sys.base[SystemState.CS] = 0x3000;
        cpu.sys.base[SystemState.DS] = 0x10000;
        cpu.sys.base[SystemState.ES] = 0x28000;
        cpu.r[Cpu.RBX] = 0xFFFF_FFF0L;
        cpu.r[Cpu.RAX] = 0x20;
        cpu.rip = 0;
        run(0x3000, "d7 26 d7");
        assertThat(cpu.r[Cpu.RAX] & 0xFF).as("DS:(0xFFF0 + 0x20) & 0xFFFF").isEqualTo(expected(0x10010));
        long al = cpu.r[Cpu.RAX] & 0xFF;
        interpreter.step();
        assertThat(cpu.r[Cpu.RAX] & 0xFF).as("ES override").isEqualTo(expected(0x28000 + ((0xFFF0 + al) & 0xFFFF)));
        assertThat(cpu.rip).isEqualTo(3);
    }
}
