package dev.streamsre.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
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
        Map<String, Stat> postgres = new HashMap<>();
        try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
            processes.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .map(process -> Stat.read(process.resolve("stat")))
                    .filter(stat -> stat != null && stat.command().equals("postgres"))
                    .forEach(stat -> postgres.put(stat.pid(), stat));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        long ticks = 0;
        for (Stat stat : postgres.values()) {
            ticks += stat.ticks();
            if (!postgres.containsKey(stat.parentPid())) {
                // The postmaster (its parent is not PostgreSQL): add its ended children's time.
                ticks += stat.childrenTicks();
            }
        }
        return postgres.isEmpty() ? -1 : ticks / TICKS_PER_SECOND;
    }

    /**
     * {@link #postgresSeconds()} once two readings 200 ms apart agree: a backend that ends during a
     * reading (the ceiling's connections close just before it) can be missed, neither alive any more
     * nor yet collected by the postmaster, and would make the phase look seconds cheaper.
     */
    static double settledPostgresSeconds() throws InterruptedException {
        double previous = postgresSeconds();
        for (int attempt = 0; attempt < 20; attempt++) {
            Thread.sleep(200);
            double now = postgresSeconds();
            if (Math.abs(now - previous) <= 0.05) {
                return now;
            }
            previous = now;
        }
        return previous;
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

    /** utime + stime of one process or thread; -1 if unreadable. */
    private static long ticks(Path stat) {
        Stat read = Stat.read(stat);
        return read == null ? -1 : read.ticks();
    }

    /**
     * One /proc stat line: the command name (between the first "(" and the last ")", as it may hold
     * either), and the fields after it, the state first (so field N of proc(5) is {@code fields[N - 3]}).
     */
    private record Stat(String pid, String command, String[] fields) {

        /** The line at {@code path}, or null if the process is gone or the line unreadable. */
        static Stat read(Path path) {
            try {
                String line = Files.readString(path);
                int open = line.indexOf('(');
                int close = line.lastIndexOf(')');
                return new Stat(line.substring(0, open).trim(), line.substring(open + 1, close),
                        line.substring(close + 2).split(" "));
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        String parentPid() {
            return fields[1];
        }

        /** utime + stime: fields 14 and 15. */
        long ticks() {
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        }

        /** cutime + cstime, the children it has collected: fields 16 and 17. */
        long childrenTicks() {
            return Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
        }
    }
}
