package dev.hako.vmm.machine;

import dev.hako.devices.backend.BlockBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A raw image file as a {@link BlockBackend}, for the boot tests (the image layer proper is hako-vmm's). */
final class RawImageFile implements BlockBackend {
    private final FileChannel channel;
    private final boolean readOnly;

    RawImageFile(Path file, boolean readOnly) throws IOException {
        this.channel = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.readOnly = readOnly;
    }

    @Override
    public long size() {
        try {
            return channel.size();
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        var buffer = memory.asSlice(memoryOffset, length).asByteBuffer();
        while (buffer.hasRemaining() && channel.read(buffer, offset + buffer.position()) >= 0) {
            // a short read goes on where it stopped
        }
    }

    @Override
    public void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        var buffer = memory.asSlice(memoryOffset, length).asByteBuffer();
        while (buffer.hasRemaining()) {
            channel.write(buffer, offset + buffer.position());
        }
    }

    @Override
    public void flush() throws IOException {
        channel.force(false);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        writeZeroes(offset, length, true);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        var zeroes = java.nio.ByteBuffer.allocate((int) Math.min(length, 1 << 16));
        for (long done = 0; done < length; ) {
            zeroes.clear().limit((int) Math.min(zeroes.capacity(), length - done));
            done += channel.write(zeroes, offset + done);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
