package io.strata.cli;

import io.strata.compute.QuotaDefaults;
import io.strata.compute.SchedulerSettings;
import io.strata.server.ClusterSettings;
import io.strata.server.StrataConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

/** The options {@code strata up} and {@code strata controller} share: API, database, hosts' heartbeats. */
final class ServerOptions {
    @Option(names = "--port", description = "API port (default ${DEFAULT-VALUE}).", defaultValue = "8774")
    int port;

    @Option(names = "--bind", description = "Address to listen on (default ${DEFAULT-VALUE}).", defaultValue = "0.0.0.0")
    String bind;

    @Option(names = "--public-url", description = "Base URL put in the service catalog (default http://127.0.0.1:PORT); behind a "
            + "load balancer, its address.")
    String publicUrl;

    @Option(names = "--data-dir", description = "Where the database, images, VMs and openrc live (default ~/.strata).")
    Path dataDir;

    @Option(names = "--db", description = "JDBC URL of a PostgreSQL database (default: embedded H2 under the data dir).")
    String databaseUrl;

    @Option(names = "--db-user", description = "Database user.", defaultValue = "${env:STRATA_DB_USER}")
    String databaseUser;

    @Option(names = "--db-password", description = "Database password (or STRATA_DB_PASSWORD).", defaultValue = "${env:STRATA_DB_PASSWORD}")
    String databasePassword;

    @Option(names = "--admin-password", description = "Password of the admin user on first start (or STRATA_ADMIN_PASSWORD; "
            + "generated if neither is given).", defaultValue = "${env:STRATA_ADMIN_PASSWORD}")
    String adminPassword;

    @Option(names = "--quota", paramLabel = "NAME=VALUE", description = "Default quota of projects, e.g. instances=10 (repeatable; "
            + "-1 is unlimited).")
    List<String> quotas = new ArrayList<>();

    @Option(names = "--cpu-allocation-ratio", description = "How many vCPUs the scheduler places per host CPU (Nova's "
            + "cpu_allocation_ratio, default ${DEFAULT-VALUE}).", defaultValue = "16.0")
    double cpuAllocationRatio;

    @Option(names = "--ram-allocation-ratio", description = "How far host RAM may be overcommitted (Nova's ram_allocation_ratio, "
            + "default ${DEFAULT-VALUE}).", defaultValue = "1.5")
    double ramAllocationRatio;

    @Option(names = "--heartbeat-interval", paramLabel = "SECONDS", converter = DurationConverter.class,
            description = "How often agents heartbeat and the leader checks hosts (seconds, or e.g. 500ms).")
    Duration heartbeatInterval;

    @Option(names = "--missed-heartbeats", paramLabel = "N", description = "A host is down after N missed heartbeats.")
    Integer missedHeartbeats;

    @Option(names = "--evacuate", paramLabel = "auto|always|never", description = "Rebuild a dead host's servers elsewhere: auto (when "
            + "nothing is lost: fake driver, live-image clones, servers on shared instance storage), always or never.")
    String evacuate;

    @Option(names = "--agent-token", description = "Secret shared with the agents (or STRATA_AGENT_TOKEN; default: "
            + "<data dir>/agent-token, created on first start).", defaultValue = "${env:STRATA_AGENT_TOKEN}")
    String agentToken;

    @Option(names = "--os-morphing-image", description = "Directory with the vmlinuz and initrd.img the migration worker boots as "
            + "its OS-morphing appliance (or STRATA_OS_MORPHING_IMAGE; default: the --kvm-probe-image directory, which bin/strata "
            + "points at tools/guest-image/out).", defaultValue = "${env:STRATA_OS_MORPHING_IMAGE}")
    java.nio.file.Path osMorphingImage;

    @Option(names = "--image-size-cap", paramLabel = "BYTES", converter = SizeConverter.class,
            description = "Largest image the image service takes, in bytes or with a binary unit (4KiB, 10G, 1TiB); an upload or "
                    + "snapshot over it is refused with 413 (Glance's image_size_cap, default 1TiB).")
    Long imageSizeCap;

    @Option(names = "--snooze-bootstrap-port", description = "Also serve the Snooze bootstrap API on this port.")
    int snoozeBootstrapPort;

    @Option(names = "--snooze-gm-port", description = "Also serve the Snooze group manager API on this port.")
    int snoozeGroupManagerPort;

    /** The configuration these options describe, over {@code cluster}'s defaults. */
    StrataConfig config(ClusterSettings cluster) {
        Path dir = dataDir != null ? dataDir : Path.of(System.getProperty("user.home"), ".strata");
        if (heartbeatInterval != null || missedHeartbeats != null) {
            cluster = cluster.withHeartbeat(heartbeatInterval != null ? heartbeatInterval : cluster.heartbeatInterval(),
                    missedHeartbeats != null ? missedHeartbeats : cluster.missedHeartbeats());
        }
        if (evacuate != null) {
            cluster = cluster.withEvacuate(ClusterSettings.Evacuate.parse(evacuate));
        }
        cluster = cluster.withAgentToken(blankToNull(agentToken)).withSnoozePorts(snoozeBootstrapPort, snoozeGroupManagerPort);
        StrataConfig config = StrataConfig.defaults(dir.toAbsolutePath())
                .withPort(port)
                .withBindHost(bind)
                .withPublicUrl(publicUrl)
                .withScheduler(new SchedulerSettings(cpuAllocationRatio, ramAllocationRatio, SchedulerSettings.DEFAULT.diskAllocationRatio()))
                .withAdminPassword(blankToNull(adminPassword))
                .withDatabase(blankToNull(databaseUrl), blankToNull(databaseUser), blankToNull(databasePassword))
                .withCluster(cluster);
        QuotaDefaults quotaDefaults = config.quotas();
        for (String quota : quotas) {
            quotaDefaults = quotaDefaults.with(quota);
        }
        config = config.withQuotas(quotaDefaults).withOsMorphingImage(osMorphingImage);
        return imageSizeCap != null ? config.withImageSizeCap(imageSizeCap) : config;
    }

    static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value;
    }

    /** Bytes ("1099511627776") or a number with a binary unit: K, M, G, T, or KiB, MiB, GiB, TiB. */
    static final class SizeConverter implements ITypeConverter<Long> {
        private static final java.util.regex.Pattern SIZE = java.util.regex.Pattern.compile("(\\d+)\\s*(?:([KMGT])(?:iB)?)?",
                java.util.regex.Pattern.CASE_INSENSITIVE);

        @Override
        public Long convert(String value) {
            return parse(value);
        }

        static long parse(String value) {
            java.util.regex.Matcher matcher = SIZE.matcher(value.strip());
            try {
                if (!matcher.matches()) {
                    throw new IllegalArgumentException();
                }
                long number = Long.parseLong(matcher.group(1));
                int shift = matcher.group(2) == null ? 0 : 10 * ("KMGT".indexOf(Character.toUpperCase(matcher.group(2).charAt(0))) + 1);
                if (number < 1 || number > Long.MAX_VALUE >> shift) {
                    throw new IllegalArgumentException();
                }
                return number << shift;
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("not a positive size: '" + value + "' (e.g. 1099511627776, 4KiB, "
                        + "10G, 1TiB)");
            }
        }
    }

    /** Seconds ("3", "0.5") or a number with a unit ("500ms", "3s", "1m"). */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return parse(value);
        }

        static Duration parse(String value) {
            String text = value.strip().toLowerCase(java.util.Locale.ROOT);
            try {
                Duration duration;
                if (text.endsWith("ms")) {
                    duration = Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2).strip()));
                } else if (text.endsWith("s")) {
                    duration = Duration.ofMillis(Math.round(Double.parseDouble(text.substring(0, text.length() - 1).strip()) * 1000));
                } else if (text.endsWith("m")) {
                    duration = Duration.ofMillis(Math.round(Double.parseDouble(text.substring(0, text.length() - 1).strip()) * 60_000));
                } else {
                    duration = Duration.ofMillis(Math.round(Double.parseDouble(text) * 1000));
                }
                if (duration.isNegative() || duration.isZero()) {
                    throw new IllegalArgumentException();
                }
                return duration;
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException("not a positive duration: '" + value + "' (e.g. 3, 0.5, 500ms, 3s)");
            }
        }
    }
}
