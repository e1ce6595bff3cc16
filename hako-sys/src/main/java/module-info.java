/** The only FFM code outside the KVM backend: one gateway class per native header. */
module dev.hako.sys {
    exports dev.hako.sys;
}
