package dev.hako.vmm.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** mmdebstrap's verbose output (lines as mmdebstrap 1.3.5 prints them) condensed to the steps and a count. */
class MmdebstrapProgressTest {
    @Test
    void stepsPassAndPackagesAreCounted() {
        List<String> shown = new ArrayList<>();
        MmdebstrapProgress progress = new MmdebstrapProgress(shown::add);
        List<String> output = new ArrayList<>(List.of(
                "I: running apt-get update...",
                "Fetched 9425 kB in 2s (4991 kB/s)",
                "Reading package lists...",
                "0 upgraded, 30 newly installed, 0 to remove and 0 not upgraded.",
                "/usr/bin/dpkg --status-fd 12 --no-triggers --configure gcc-12-base:amd64 "));
        for (int i = 0; i < 30; i++) {
            output.add("Unpacking p" + i + " (1.0) ...");
            output.add("Setting up p" + i + " (1.0) ...");
        }
        output.addAll(List.of(
                "I: /vmlinuz is now a symlink to boot/vmlinuz-6.1.0-57-cloud-amd64",
                "update-initramfs: Generating /boot/initrd.img-6.1.0-57-cloud-amd64",
                "W: Couldn't identify type of root file system for fsck hook",
                "I: running --customize-hook in shell: sh -c 'sh '/x/customize.sh' \"$1\"' exec /x/system",
                "E: Unable to locate package nosuch",
                "I: success in 70.7 seconds"));
        output.forEach(progress);
        assertThat(shown).containsExactly(
                "  running apt-get update...",
                "    set up 25 of 30 packages",
                "    set up 30 of 30 packages",
                "    update-initramfs: Generating /boot/initrd.img-6.1.0-57-cloud-amd64",
                "  warning: Couldn't identify type of root file system for fsck hook",
                "  running hako's customize hook",
                "  error: Unable to locate package nosuch",
                "  success in 70.7 seconds");
    }
}
