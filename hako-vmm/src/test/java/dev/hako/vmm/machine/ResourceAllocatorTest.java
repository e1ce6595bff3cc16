package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ResourceAllocatorTest {
    private final ResourceAllocator resources = new ResourceAllocator(4, 0xC000, 0xFFFF, 0xC000_0000L, 0xC00F_FFFFL,
            0x10_0000_0000L, 0x10_FFFF_FFFFL, 8);

    @Test
    void secondClaimsNameBothOwners() {
        resources.claimPorts("com1", 0x3F8, 8);
        assertThatThrownBy(() -> resources.claimPorts("other", 0x3FF, 2)).hasMessageContaining("com1")
                .hasMessageContaining("other");
        resources.claimPorts("next", 0x400, 1);
        resources.claimMmio("ioapic", 0xFEC0_0000L, 0x1000);
        assertThatThrownBy(() -> resources.claimMmio("x", 0xFEC0_0800L, 0x10)).hasMessageContaining("ioapic");
        resources.claimIrq("pit", 0);
        assertThatThrownBy(() -> resources.claimIrq("hpet", 0)).hasMessageContaining("pit");
    }

    @Test
    void barsAreNaturallyAlignedInsideTheirWindow() {
        assertThat(resources.allocateMmio32Bar(0x1000)).isEqualTo(0xC000_0000L);
        assertThat(resources.allocateMmio32Bar(0x10000)).isEqualTo(0xC001_0000L);
        assertThat(resources.allocateMmio32Bar(0x100)).isEqualTo(0xC002_0000L);
        assertThat(resources.allocateMmio64Bar(0x8000)).isEqualTo(0x10_0000_0000L);
        assertThat(resources.allocateIoBar(0x20)).isEqualTo(0xC000);
        assertThat(resources.allocateIoBar(0x100)).isEqualTo(0xC100);
        assertThatThrownBy(() -> resources.allocateMmio32Bar(0x10_0000)).hasMessageContaining("no room");
    }

    @Test
    void slotsAndMsiVectorsRunOut() {
        assertThat(resources.allocateSlot("a")).isEqualTo(1);
        assertThat(resources.allocateSlot("b")).isEqualTo(2);
        assertThat(resources.allocateSlot("c")).isEqualTo(3);
        assertThatThrownBy(() -> resources.allocateSlot("d")).hasMessageContaining("no free PCI slot for d");
        assertThat(resources.allocateMsiVectors("a", 5)).isZero();
        assertThat(resources.allocateMsiVectors("b", 3)).isEqualTo(5);
        assertThatThrownBy(() -> resources.allocateMsiVectors("c", 1)).hasMessageContaining("0 are left");
    }

    @Test
    void deviceTableKeepsBuildOrderAndRefusesDuplicateIds() {
        DeviceTable table = new DeviceTable();
        table.add("com1", "uart");
        table.add("pit", 42);
        assertThat(table.all().keySet()).containsExactly("com1", "pit");
        assertThat(table.get("pit", Integer.class)).isEqualTo(42);
        assertThatThrownBy(() -> table.add("com1", "again")).hasMessageContaining("already taken");
        assertThatThrownBy(() -> table.add("Bad Id", 1)).hasMessageContaining("not lower-case");
    }
}
