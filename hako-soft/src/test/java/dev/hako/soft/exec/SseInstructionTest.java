package dev.hako.soft.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SSE/SSE2 instructions decoded from their bytes and run on the soft CPU, with results worked out from the
 * SDM's definitions: the opcode-map wiring (mandatory prefixes, register versus memory forms, REX-extended
 * XMM numbers) and the semantics that are not floating point. The host-CPU comparison is in the
 * differential tests.
 */
class SseInstructionTest {
    private static final long CODE = 0x1000, DATA = 0x2000;

    private Cpu cpu;
    private Interpreter interpreter;
    private int faultVector;

    @BeforeEach
    void setUp() {
        MemorySegment ram = Arena.ofAuto().allocate(0x4000, 4096);
        cpu = new Cpu(new Mmu(ram, (gva, access) -> {
            if (gva < 0 || gva >= 0x4000) {
                throw new CpuFault().raise(CpuFault.PF, 0, true, gva);
            }
            return gva & -4096;
        }));
        faultVector = -1;
        interpreter = new Interpreter(cpu, (c, fault, in) -> faultVector = fault.vector());
    }

    private void run(String hex) {
        byte[] code = HexFormat.of().parseHex(hex.replace(" ", ""));
        cpu.mem.writeBytes(CODE, code, 0, code.length);
        cpu.rip = CODE;
        interpreter.step();
        if (faultVector < 0) {
            assertThat(cpu.rip).as("instruction length").isEqualTo(CODE + code.length);
        }
    }

    private void xmm(int n, long lo, long hi) {
        cpu.xmm[2 * n] = lo;
        cpu.xmm[2 * n + 1] = hi;
    }

    private void assertXmm(int n, long lo, long hi) {
        assertThat(Long.toHexString(cpu.xmm[2 * n])).as("xmm%d low", n).isEqualTo(Long.toHexString(lo));
        assertThat(Long.toHexString(cpu.xmm[2 * n + 1])).as("xmm%d high", n).isEqualTo(Long.toHexString(hi));
    }

    @Test
    void packedByteAddWrapsAndSaturatingFormsClamp() {
        xmm(1, 0x7F01_FF80_0000_0001L, 0);
        xmm(2, 0x0101_0180_0000_00FFL, 0);
        run("66 0F FC CA"); // paddb xmm1, xmm2
        assertXmm(1, 0x8002_0000_0000_0000L, 0);
        xmm(1, 0x7FFF_8000_0001_FFFFL, 0);
        xmm(2, 0x0001_FFFF_FFFF_0001L, 0);
        run("66 0F ED CA"); // paddsw
        assertXmm(1, 0x7FFF_8000_0000_0000L, 0);
        xmm(1, 0x0510_0000_0000_00FFL, 0);
        xmm(2, 0x0A01_0000_0000_0001L, 0);
        run("66 0F D8 CA"); // psubusb
        assertXmm(1, 0x000F_0000_0000_00FEL, 0);
    }

    @Test
    void rexExtendsXmmNumbers() {
        xmm(8, 1, 2);
        xmm(9, 0x10, 0x20);
        run("66 45 0F D4 C1"); // paddq xmm8, xmm9
        assertXmm(8, 0x11, 0x22);
    }

    @Test
    void multiplyAddAndSumOfDifferences() {
        xmm(1, 0x0002_0003_8000_8000L, 0);
        xmm(2, 0x0004_0005_8000_8000L, 0);
        run("66 0F F5 CA"); // pmaddwd
        assertXmm(1, (2 * 4 + 3 * 5L) << 32 | 0x8000_0000L, 0);
        xmm(1, 0x0000_0000_0000_10FFL, 0x01);
        xmm(2, 0x0000_0000_0000_2000L, 0x03);
        run("66 0F F6 CA"); // psadbw
        assertXmm(1, 0xFF + 0x10, 2);
        xmm(1, 0xFFFF_FFFF_FFFF_FFFFL, 3);
        xmm(2, 0x1234_5678_FFFF_FFFFL, 5);
        run("66 0F F4 CA"); // pmuludq
        assertXmm(1, 0xFFFF_FFFE_0000_0001L, 15);
    }

    @Test
    void shiftsByCountAndImmediate() {
        xmm(1, 0x8000_4000_0001_FFFFL, 0x8000_0000_0000_0000L);
        run("66 0F 71 E1 14"); // psraw xmm1, 20: counts beyond 15 fill with the sign
        assertXmm(1, 0xFFFF_0000_0000_FFFFL, 0xFFFF_0000_0000_0000L);
        xmm(1, -1, -1);
        xmm(2, 65, 0);
        run("66 0F D3 CA"); // psrlq xmm1, xmm2
        assertXmm(1, 0, 0);
        xmm(1, 0x1122_3344_5566_7788L, 0x99AA_BBCC_DDEE_FF00L);
        run("66 0F 73 F9 03"); // pslldq xmm1, 3
        assertXmm(1, 0x4455_6677_8800_0000L, 0xCCDD_EEFF_0011_2233L);
        run("66 0F 73 D9 0B"); // psrldq xmm1, 11
        assertXmm(1, 0xCC_DDEE_FF00L, 0);
    }

    @Test
    void shufflesAndInterleaves() {
        xmm(1, 0x1111_1111_0000_0000L, 0x3333_3333_2222_2222L);
        run("66 0F 70 C1 1B"); // pshufd xmm0, xmm1, 0x1b
        assertXmm(0, 0x2222_2222_3333_3333L, 0x0000_0000_1111_1111L);
        xmm(0, 0x0706_0504_0302_0100L, 0);
        xmm(1, 0x1716_1514_1312_1110L, 0);
        run("66 0F 60 C1"); // punpcklbw
        assertXmm(0, 0x1303_1202_1101_1000L, 0x1707_1606_1505_1404L);
        xmm(0, 0xAAAA_AAAA_BBBB_BBBBL, 0xCCCC_CCCC_DDDD_DDDDL);
        xmm(1, 0x1111_1111_2222_2222L, 0x3333_3333_4444_4444L);
        run("0F C6 C1 4E"); // shufps xmm0, xmm1, 01 00 11 10b
        assertXmm(0, 0xCCCC_CCCC_DDDD_DDDDL, 0x1111_1111_2222_2222L);
        xmm(0, 1, 2);
        xmm(1, 3, 4);
        run("66 0F 15 C1"); // unpckhpd
        assertXmm(0, 2, 4);
        xmm(1, 0x0004_0003_0002_0001L, 0x0008_0007_0006_0005L);
        run("F3 0F 70 C1 1B"); // pshufhw
        assertXmm(0, 0x0004_0003_0002_0001L, 0x0005_0006_0007_0008L);
    }

    @Test
    void packsSaturate() {
        xmm(0, 0x8000_7FFF_FF80_007FL, 0x0100_FFFF_0000_0001L);
        xmm(1, 0, 0);
        run("66 0F 63 C1"); // packsswb
        assertXmm(0, 0x7F_FF_00_01_80_7F_80_7FL, 0);
        run("66 0F 67 C1"); // packuswb on the result of packsswb
        assertXmm(0, 0xFF01_0000L, 0);
    }

    @Test
    void maskExtractionAndWordInsertion() {
        xmm(1, 0x8000_0000_7FFF_FFFFL, 0x0000_0000_8000_0000L);
        cpu.r[0] = -1;
        run("0F 50 C1"); // movmskps eax, xmm1
        assertThat(cpu.r[0]).isEqualTo(0b0110);
        run("66 0F D7 C1"); // pmovmskb eax, xmm1
        assertThat(cpu.r[0]).isEqualTo(0x0887);
        run("66 0F C5 C1 06"); // pextrw eax, xmm1, 6
        assertThat(cpu.r[0]).isEqualTo(0);
        run("66 0F C5 C1 05"); // pextrw eax, xmm1, 5
        assertThat(cpu.r[0]).isEqualTo(0x8000);
        run("66 0F C5 C1 01"); // pextrw eax, xmm1, 1
        assertThat(cpu.r[0]).isEqualTo(0x7FFF);
        cpu.r[3] = 0xABCD_1234;
        run("66 0F C4 CB 07"); // pinsrw xmm1, ebx, 7
        assertXmm(1, 0x8000_0000_7FFF_FFFFL, 0x1234_0000_8000_0000L);
    }

    @Test
    void scalarMovesMergeInRegistersAndZeroOnLoads() {
        xmm(0, 0x1111_1111_2222_2222L, 0x3333_3333_4444_4444L);
        xmm(1, 0x5555_5555_6666_6666L, 0x7777_7777_8888_8888L);
        run("F3 0F 10 C1"); // movss xmm0, xmm1
        assertXmm(0, 0x1111_1111_6666_6666L, 0x3333_3333_4444_4444L);
        cpu.mem.write64(DATA, 0x9999_9999_AAAA_AAAAL);
        cpu.r[0] = DATA;
        run("F3 0F 10 00"); // movss xmm0, [rax]
        assertXmm(0, 0xAAAA_AAAAL, 0);
        run("F2 0F 10 08"); // movsd xmm1, [rax]
        assertXmm(1, 0x9999_9999_AAAA_AAAAL, 0);
        xmm(2, 5, 6);
        run("0F 16 10"); // movhps xmm2, [rax]
        assertXmm(2, 5, 0x9999_9999_AAAA_AAAAL);
        run("0F 12 D1"); // movhlps xmm2, xmm1
        assertXmm(2, 0, 0x9999_9999_AAAA_AAAAL);
        cpu.r[3] = 0xFFFF_FFFF_8000_0001L;
        run("66 48 0F 6E C3"); // movq xmm0, rbx
        assertXmm(0, 0xFFFF_FFFF_8000_0001L, 0);
        cpu.r[3] = -1;
        run("66 0F 7E C3"); // movd ebx, xmm0
        assertThat(cpu.r[3]).isEqualTo(0x8000_0001L);
        xmm(3, 7, 8);
        run("66 0F D6 C3"); // movq xmm3, xmm0
        assertXmm(3, 0xFFFF_FFFF_8000_0001L, 0);
    }

    @Test
    void alignedMovesFaultOnMisalignedMemory() {
        cpu.r[0] = DATA + 8;
        run("0F 28 00"); // movaps xmm0, [rax]
        assertThat(faultVector).isEqualTo(CpuFault.GP);
        faultVector = -1;
        run("66 0F FE 00"); // paddd xmm0, [rax]: legacy 128-bit operands must be aligned
        assertThat(faultVector).isEqualTo(CpuFault.GP);
        faultVector = -1;
        cpu.mem.write64(DATA + 8, 0x1234);
        run("0F 10 00"); // movups xmm0, [rax]
        assertThat(faultVector).isEqualTo(-1);
        assertXmm(0, 0x1234, 0);
        run("F3 0F 58 00"); // addss xmm0, [rax]: scalar operands are never checked
        assertThat(faultVector).isEqualTo(-1);
    }

    @Test
    void mxcsrLoadRejectsReservedBits() {
        cpu.r[0] = DATA;
        cpu.mem.write32(DATA, 0x1_0000);
        run("0F AE 10"); // ldmxcsr [rax]
        assertThat(faultVector).isEqualTo(CpuFault.GP);
        assertThat(cpu.mxcsr).isEqualTo(0x1F80);
        faultVector = -1;
        cpu.mem.write32(DATA, 0xFFFF);
        run("0F AE 10");
        assertThat(cpu.mxcsr).isEqualTo(0xFFFF);
        run("0F AE 58 04"); // stmxcsr [rax+4]
        assertThat(cpu.mem.read32(DATA + 4)).isEqualTo(0xFFFF);
    }

    @Test
    void unmaskedExceptionRaisesXmAndLeavesTheDestination() {
        cpu.mxcsr = 0x1F80 & ~(Mxcsr.ZE << Mxcsr.MASK_SHIFT);
        xmm(0, Float.floatToRawIntBits(1f), 0);
        xmm(1, 0, 0);
        run("0F 5E C1"); // divps xmm0, xmm1
        assertThat(faultVector).isEqualTo(CpuFault.XM);
        assertXmm(0, Float.floatToRawIntBits(1f), 0);
        assertThat(cpu.mxcsr & Mxcsr.FLAGS).isEqualTo(Mxcsr.ZE | Mxcsr.IE);
    }

    @Test
    void comparisonsSetFlagsAndMasks() {
        xmm(0, Double.doubleToRawLongBits(1.0), 0);
        xmm(1, Double.doubleToRawLongBits(Double.NaN), 0);
        run("66 0F 2E C1"); // ucomisd xmm0, xmm1
        assertThat(cpu.rflags() & Flags.ARITH).isEqualTo(Flags.ZF | Flags.PF | Flags.CF);
        assertThat(cpu.mxcsr & Mxcsr.IE).isZero();
        run("66 0F 2F C1"); // comisd: any NaN signals
        assertThat(cpu.mxcsr & Mxcsr.IE).isEqualTo(Mxcsr.IE);
        xmm(1, Double.doubleToRawLongBits(2.0), 0);
        run("66 0F 2F C1");
        assertThat(cpu.rflags() & Flags.ARITH).isEqualTo(Flags.CF);
        xmm(0, Float.floatToRawIntBits(1f) | (long) Float.floatToRawIntBits(3f) << 32, 0);
        xmm(1, Float.floatToRawIntBits(2f) | (long) Float.floatToRawIntBits(2f) << 32, 0);
        run("0F C2 C1 01"); // cmpltps xmm0, xmm1
        assertXmm(0, 0xFFFF_FFFFL, 0);
    }

    @Test
    void integerConversionsFollowTheRoundingMode() {
        cpu.r[0] = -3;
        run("F2 48 0F 2A C0"); // cvtsi2sd xmm0, rax
        assertThat(Double.longBitsToDouble(cpu.xmm[0])).isEqualTo(-3.0);
        xmm(0, Double.doubleToRawLongBits(-2.5), 0);
        run("F2 48 0F 2D C0"); // cvtsd2si rax, xmm0
        assertThat(cpu.r[0]).isEqualTo(-2);
        cpu.mxcsr = 0x1F80 | (Mxcsr.RD << Mxcsr.RC_SHIFT);
        run("F2 48 0F 2D C0");
        assertThat(cpu.r[0]).isEqualTo(-3);
        run("F2 0F 2C C0"); // cvttsd2si eax, xmm0
        assertThat(cpu.r[0]).isEqualTo(0xFFFF_FFFEL);
        xmm(1, Float.floatToRawIntBits(1.5f) | (long) Float.floatToRawIntBits(Float.NaN) << 32, 0);
        run("66 0F 5B C1"); // cvtps2dq xmm0, xmm1 (round down)
        assertXmm(0, 0x8000_0000_0000_0001L, 0);
    }
}
