package dev.hako.vmm.boot;

/** GDTR or IDTR: a linear base and a limit (size in bytes minus one). */
public record DescriptorTableState(long base, int limit) {
}
