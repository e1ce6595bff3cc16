package dev.hako.soft.exec;

/** The vCPU's view of its local interrupt controller. */
public interface InterruptSource {
    /** The vector the CPU would take now, or -1 when nothing is pending (or all is masked by TPR). */
    int pendingVector();

    /** The CPU takes the pending vector (INTA): moves it from IRR to ISR; returns it. */
    int acknowledge();

    InterruptSource NONE = new InterruptSource() {
        @Override
        public int pendingVector() {
            return -1;
        }

        @Override
        public int acknowledge() {
            return -1;
        }
    };
}
