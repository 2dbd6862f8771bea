package dev.streamsre.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time of a process and of its JIT compiler threads, from Linux's /proc. The benchmark prints
 * them because on 2 cores the consumer's speed is bounded by CPU, and a drain of a few tens of
 * seconds spends a large share of it compiling: without the split, warm-up and steady cost look alike.
 */
final class ProcessCpu {

    /** USER_HZ: /proc reports times in these ticks; 100 on every Linux architecture Java runs on here. */
    private static final double TICKS_PER_SECOND = 100.0;

    private ProcessCpu() {
    }

    /** User plus system CPU seconds of the whole process so far; -1 if unreadable. */
    static double seconds(long pid) {
        return ticks(Path.of("/proc", String.valueOf(pid), "stat")) / TICKS_PER_SECOND;
    }

    /** CPU seconds of the HotSpot compiler threads (named "C1 CompilerThread..." and "C2 CompilerThread..."). */
    static double jitSeconds(long pid) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
            return tasks.filter(ProcessCpu::isCompilerThread).mapToLong(task -> ticks(task.resolve("stat"))).sum()
                    / TICKS_PER_SECOND;
        } catch (IOException e) {
            return -1;
        }
    }

    private static boolean isCompilerThread(Path task) {
        try {
            return Files.readString(task.resolve("comm")).matches("C[12] CompilerThre.*\\s*");
        } catch (IOException e) {
            return false;
        }
    }

    /** utime + stime: fields 14 and 15 of a stat line, counted after the ")" that ends the command name. */
    private static long ticks(Path stat) {
        try {
            String line = Files.readString(stat);
            String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
