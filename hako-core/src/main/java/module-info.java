/** hako's machine-independent core: guest memory and the contracts every accelerator and device share. */
module dev.hako.core {
    exports dev.hako.core.memory;
    exports dev.hako.core.state;
    exports dev.hako.core.accel;
    exports dev.hako.core.x86;
    exports dev.hako.core.bus;
    exports dev.hako.core.irq;
    exports dev.hako.core.time;
}
