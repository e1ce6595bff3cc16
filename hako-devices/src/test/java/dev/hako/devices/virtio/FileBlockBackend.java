package dev.hako.devices.virtio;

import dev.hako.devices.backend.BlockBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A raw image file as a {@link BlockBackend}, for tests (the real image formats are hako-vmm's). */
public final class FileBlockBackend implements BlockBackend {
    private final FileChannel channel;
    private final long size;
    private final boolean readOnly;
    public int flushes;
    public IOException failNext;

    public FileBlockBackend(Path file, boolean readOnly) throws IOException {
        this.channel = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.size = channel.size();
        this.readOnly = readOnly;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    private void maybeFail() throws IOException {
        IOException e = failNext;
        failNext = null;
        if (e != null) {
            throw e;
        }
    }

    @Override
    public void read(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        maybeFail();
        ByteBuffer buffer = memory.asSlice(memoryOffset, length).asByteBuffer();
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new IOException("read past the end of the image");
            }
        }
    }

    @Override
    public void write(long offset, MemorySegment memory, long memoryOffset, int length) throws IOException {
        maybeFail();
        ByteBuffer buffer = memory.asSlice(memoryOffset, length).asByteBuffer();
        while (buffer.hasRemaining()) {
            channel.write(buffer, offset + buffer.position());
        }
    }

    @Override
    public void flush() throws IOException {
        maybeFail();
        flushes++;
        channel.force(false);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
        writeZeroes(offset, length, true);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean unmap) throws IOException {
        maybeFail();
        ByteBuffer zeroes = ByteBuffer.allocate((int) Math.min(length, 1 << 16));
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
