package dev.hako.soft.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The count of thrown-away translations that decides how long a page's code waits to be translated again. */
class CodePagesTest {
    private static final long MS = 1_000_000;

    @Test
    void thrownAwayTranslationsCountUntilThePageSettles() {
        CodePages pages = new CodePages(1 << 20);
        long page = 0x3000, other = 0x4000;
        long start = 5_000 * MS;
        assertThat(pages.recentlyDiscardedTranslations(page, start)).isZero();
        pages.translationDiscarded(page, start);
        pages.translationDiscarded(page, start + 10 * MS);
        pages.translationDiscarded(page, start + 500 * MS);
        assertThat(pages.recentlyDiscardedTranslations(page, start + 600 * MS)).isEqualTo(3);
        assertThat(pages.recentlyDiscardedTranslations(other, start + 600 * MS)).isZero();

        long settled = start + 500 * MS + 1_100 * MS;
        assertThat(pages.recentlyDiscardedTranslations(page, settled)).as("a second without a rewrite").isZero();
        pages.translationDiscarded(page, settled);
        assertThat(pages.recentlyDiscardedTranslations(page, settled + MS)).as("counting starts again").isEqualTo(1);
    }
}
