package io.strata.bench;

import java.util.Arrays;

/**
 * Benchmark drivers. Each prints its figures as plain lines, to be copied into bench/RESULTS.md
 * with the command that produced them.
 *
 * <pre>
 *   java -jar strata-bench.jar api URL PASSWORD [options]   HTTP load against a running cloud
 *   java -jar strata-bench.jar live-image URL PASSWORD IMAGE DATA_DIR [options]   live images on real guests
 *   java -jar strata-bench.jar hierarchy [options]           Snooze hierarchy policies at scale, in memory
 *   java -jar strata-bench.jar cluster-api URL PASSWORD [options]   virtual clusters through the Snooze or Compute API
 *   java -jar strata-bench.jar cluster-day URL PASSWORD [options]   a synthetic day through the Snooze API, powered-on hosts sampled
 *   java -jar strata-bench.jar jmh [JMH options]            micro-benchmarks
 *   java -jar strata-bench.jar replication [options]        full vs incremental disk replication
 * </pre>
 */
public final class Bench {
    private Bench() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: strata-bench api URL PASSWORD [--clients N] [--seconds S] [--servers N] | jmh [options] | replication [--size-mb N] [--changed-percent P]");
            System.exit(2);
        }
        // The JDK client keeps idle connections 30 s, as long as the server's Jetty does: a request
        // on one the server has just closed fails with "header parser received no bytes" (it did
        // after the minute-long PSS measurement of 50 clones). Let the client drop them first.
        if (System.getProperty("jdk.httpclient.keepalive.timeout") == null) {
            System.setProperty("jdk.httpclient.keepalive.timeout", "10");
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "api" -> ApiLoad.main(rest);
            case "live-image" -> LiveImageLoad.main(rest);
            case "hierarchy" -> HierarchySimulation.main(rest);
            case "cluster-api" -> ClusterLoad.main(rest);
            case "cluster-day" -> ClusterDay.main(rest);
            case "jmh" -> org.openjdk.jmh.Main.main(rest);
            case "replication" -> ReplicationBench.main(rest);
            default -> {
                System.err.println("unknown benchmark " + args[0]);
                System.exit(2);
            }
        }
    }
}
