/** hako's own x86-64 CPU: decoder, MMU, interpreter. */
module dev.hako.soft {
    requires transitive dev.hako.core;
    exports dev.hako.soft.fault;
    exports dev.hako.soft.mmu;
    exports dev.hako.soft.decode;
    exports dev.hako.soft.exec;
    exports dev.hako.soft;
    exports dev.hako.soft.fpu;
}
