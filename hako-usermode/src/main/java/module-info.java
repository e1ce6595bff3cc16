/** Static ELF runner with Linux syscall emulation on the soft CPU. */
module dev.hako.usermode {
    requires dev.hako.core;
    requires dev.hako.sys;
    requires dev.hako.soft;
    exports dev.hako.usermode;
}
