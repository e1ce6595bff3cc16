/** Test doubles for hako's tests: clocks that move only when told, recording interrupt lines and I/O, tiny guests. */
module dev.hako.testkit {
    requires transitive dev.hako.core;
    exports dev.hako.testkit;
}
