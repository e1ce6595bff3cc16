package dev.hako.soft.oracle;

import dev.hako.soft.fault.CpuFault;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * What the host refuses a user process, checked on the soft CPU alone (the host would kill the JVM): at
 * CPL 3 with IOPL 0 the privileged instructions raise #GP(0), UD2 raises #UD, and INT1 (ICEBP) raises #DB,
 * which Linux turns into SIGTRAP; each leaves the state unchanged (SDM vol. 3, 2.8 and 5.9; vol. 2, each
 * instruction's "Protected Mode Exceptions").
 */
class UserModeFaultTest {
    private static final String[] PRIVILEGED = {
        "fa",             // cli
        "fb",             // sti
        "f4",             // hlt
        "0f 20 c0",       // mov rax, cr0
        "0f 22 d8",       // mov cr3, rax
        "0f 21 c0",       // mov rax, dr0
        "0f 23 f8",       // mov dr7, rax
        "0f 30",          // wrmsr
        "0f 32",          // rdmsr
        "0f 06",          // clts
        "0f 08",          // invd
        "0f 09",          // wbinvd
        "0f 01 13",       // lgdt [rbx]
        "0f 01 1b",       // lidt [rbx]
        "0f 01 33",       // lmsw [rbx]
        "0f 01 3b",       // invlpg [rbx]
        "0f 01 f8",       // swapgs
        "0f 00 d0",       // lldt ax
        "0f 00 d8",       // ltr ax
        "e4 60",          // in al, 0x60
        "e6 80",          // out 0x80, al
        "ec",             // in al, dx
        "ef",             // out dx, eax
        "0f 07",          // sysret
    };

    @TestFactory
    Stream<DynamicTest> privilegedInstructionsRaiseGp() {
        return Differential.faultTests(Stream.of(PRIVILEGED).map(hex -> InstructionCase.of(hex).iterations(5)).toList(),
                CpuFault.GP);
    }

    @TestFactory
    Stream<DynamicTest> undefinedOpcodesRaiseUd() {
        return Differential.faultTests(List.of(InstructionCase.of("0f 0b").iterations(5),
                InstructionCase.of("c4").iterations(5).note("VEX without AVX"),
                InstructionCase.of("0f ff").iterations(5).note("ud0")), CpuFault.UD);
    }

    @TestFactory
    Stream<DynamicTest> int1RaisesDb() {
        return Differential.faultTests(List.of(InstructionCase.of("f1").iterations(5)), CpuFault.DB);
    }
}
