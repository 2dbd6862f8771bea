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

    /**
     * CPU seconds used so far by every PostgreSQL process of this machine: the live ones, plus what
     * the postmaster has collected from its children that ended (a connection's backend, a checkpoint).
     * The delta over a phase is what PostgreSQL spent on it, whoever its clients were; -1 if unreadable.
     */
    static double postgresSeconds() {
        long ticks = 0;
        boolean found = false;
        try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
            for (Path process : processes.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String[] fields = statFields(process.resolve("stat"));
                if (fields == null || !commandOf(process.resolve("stat")).equals("postgres")) {
                    continue;
                }
                found = true;
                ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
                if (!commandOf(Path.of("/proc", fields[1], "stat")).equals("postgres")) {
                    // The postmaster (its parent is not PostgreSQL): add its ended children's time.
                    ticks += Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return found ? ticks / TICKS_PER_SECOND : -1;
    }

    /** CPU seconds of the Kafka broker bin/infra started (its pid file in .infra), or -1 without one. */
    static double brokerSeconds() {
        try {
            return seconds(Long.parseLong(Files.readString(Path.of(".infra", "kafka.pid")).trim()));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** CPU seconds the whole machine has been busy (all cores, every state but idle and I/O wait), from /proc/stat. */
    static double machineBusySeconds() {
        try {
            String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i < cpu.length && i <= 8; i++) {
                if (i != 4 && i != 5) {
                    busy += Long.parseLong(cpu[i]);
                }
            }
            return busy / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The fields of a stat line after the command name (state first), or null if unreadable. */
    private static String[] statFields(Path stat) {
        try {
            String line = Files.readString(stat);
            return line.substring(line.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The command name in a stat line ("" if unreadable). */
    private static String commandOf(Path stat) {
        try {
            String line = Files.readString(stat);
            return line.substring(line.indexOf('(') + 1, line.lastIndexOf(')'));
        } catch (IOException | RuntimeException e) {
            return "";
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
