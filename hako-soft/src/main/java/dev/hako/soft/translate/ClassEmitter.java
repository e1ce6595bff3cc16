package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static java.lang.constant.ConstantDescs.MTD_void;

import dev.hako.soft.decode.Insn;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.util.List;

/**
 * Writes the class file of one translated block with {@code java.lang.classfile}: a final subclass of
 * {@link dev.hako.soft.exec.BlockCode} whose {@code run(Cpu)} is the block (see
 * {@link BlockEmitter}). The instructions and handlers the code refers to are class data, loaded as
 * constants.
 */
final class ClassEmitter {
    private static final ClassDesc CD_BLOCK_CODE = ClassDesc.of("dev.hako.soft.exec.BlockCode");
    private static final MethodTypeDesc RUN_TYPE = MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU);

    private ClassEmitter() {}

    /**
     * The class file for the first {@code count} instructions of {@code insns}; fills {@code classData}. With
     * {@code deadlines} its loop-back also looks at the instruction deadline.
     */
    static byte[] emit(Insn[] insns, int count, List<Object> classData, boolean deadlines) {
        BlockEmitter.Carried[] learned = {BlockEmitter.Carried.NONE};
        byte[] first = emit(insns, count, classData, deadlines, BlockEmitter.Carried.NONE, learned);
        if (!learned[0].loops() || learned[0].touched() == 0) {
            return first;
        }
        // A loop: emitted again, its registers carried across the loop-back in locals.
        classData.clear();
        return emit(insns, count, classData, deadlines, learned[0], learned);
    }

    private static byte[] emit(Insn[] insns, int count, List<Object> classData, boolean deadlines,
            BlockEmitter.Carried carry, BlockEmitter.Carried[] learned) {
        // Named by the guest address of its first instruction, so that a profile of the JVM says which guest code ran.
        ClassDesc name = ClassDesc.of("dev.hako.soft.translate.TranslatedBlock_" + Long.toHexString(insns[0].addr));
        return ClassFile.of().build(name, cb -> cb
                .withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER)
                .withSuperclass(CD_BLOCK_CODE)
                .withMethodBody(INIT_NAME, MTD_void, ClassFile.ACC_PUBLIC,
                        code -> code.aload(0).invokespecial(CD_BLOCK_CODE, INIT_NAME, MTD_void).return_())
                .withMethodBody("run", RUN_TYPE, ClassFile.ACC_PUBLIC,
                        code -> {
                            BlockEmitter emitter = new BlockEmitter(code, insns, count, classData, deadlines, carry);
                            emitter.emit();
                            learned[0] = emitter.carried();
                        }));
    }

    /** Bytecode length of the {@code run} method in {@code classFile}. */
    static int runCodeLength(byte[] classFile) {
        ClassModel model = ClassFile.of().parse(classFile);
        for (MethodModel m : model.methods()) {
            if (m.methodName().equalsString("run")) {
                return m.findAttribute(java.lang.classfile.Attributes.code()).map(CodeAttribute::codeLength).orElse(0);
            }
        }
        return 0;
    }
}
