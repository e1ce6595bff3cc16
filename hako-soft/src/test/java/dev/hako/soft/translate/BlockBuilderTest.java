package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When blocks are translated: at the threshold, later for code on pages that were rewritten. */
class BlockBuilderTest {
    @Test
    void rewrittenPagesWaitLongerUpToALimit() {
        BlockBuilder builder = new BlockBuilder(true, 100);
        assertThat(builder.thresholdFor(0)).isEqualTo(100);
        assertThat(builder.thresholdFor(1)).isEqualTo(200);
        assertThat(builder.thresholdFor(3)).isEqualTo(800);
        assertThat(builder.thresholdFor(154)).isEqualTo(1600);
    }

    @Test
    void translatingEverythingAtOnceStaysSo() {
        assertThat(new BlockBuilder(true, 1).thresholdFor(7)).isEqualTo(1);
    }

    @Test
    void disabledTranslatesNothing() {
        assertThat(new BlockBuilder(false, 100).thresholdFor(0)).isZero();
    }
}
