package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;

/** Carries out one decoded instruction. Handlers are static methods named after the manual's forms. */
@FunctionalInterface
public interface Exec {
    void exec(Cpu cpu, Insn insn);
}
