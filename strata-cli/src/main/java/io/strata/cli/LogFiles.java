package io.strata.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy;
import ch.qos.logback.core.util.FileSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * The server's log file: {@code strata up} writes what it logs to stderr also to
 * {@code <data-dir>/logs/strata.log}, rolled at 10 MB into {@code strata.1.log.gz} … {@code strata.5.log.gz}
 * ({@code strata manage logs errors} reads them all). Attached in code rather than in logback.xml
 * because only the server has a data directory; client commands log nowhere but stderr.
 */
final class LogFiles {
    static final String FILE_NAME = "strata.log";
    private static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%thread] %logger{36} %X{request_id} - %msg%n";

    /** The environment variable that chooses the format of the server processes' logs: text (default) or json. */
    static final String FORMAT_VARIABLE = "STRATA_LOG_FORMAT";

    private static volatile boolean json;
    // The encoders the console appenders had before json replaced them, to go back to text.
    private static final Map<OutputStreamAppender<ILoggingEvent>, Encoder<ILoggingEvent>> TEXT_ENCODERS = new IdentityHashMap<>();

    private LogFiles() {}

    /**
     * Sets the format of what the server logs, on stderr and in the log file written after this:
     * {@code text} (the pattern lines) or {@code json}, one object per line as logback's
     * JsonEncoder writes it ({@code timestamp}, {@code level}, {@code threadName}, {@code loggerName},
     * {@code mdc.request_id}, {@code formattedMessage}, {@code throwable}), for log shippers. Null is text.
     */
    static synchronized void useFormat(String format) {
        String chosen = format == null || format.isBlank() ? "text" : format.strip();
        if (!chosen.equals("text") && !chosen.equals("json")) {
            throw new IllegalArgumentException(FORMAT_VARIABLE + " must be text or json, not " + chosen);
        }
        json = chosen.equals("json");
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        for (Iterator<Appender<ILoggingEvent>> it = context.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders(); it.hasNext();) {
            if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender && !(appender instanceof RollingFileAppender)) {
                Encoder<ILoggingEvent> replacement;
                if (json) {
                    TEXT_ENCODERS.putIfAbsent(appender, appender.getEncoder());
                    replacement = jsonEncoder(context);
                } else {
                    replacement = TEXT_ENCODERS.remove(appender);
                    if (replacement == null) {
                        continue;
                    }
                }
                appender.stop();
                appender.setEncoder(replacement);
                appender.start();
            }
        }
    }

    private static Encoder<ILoggingEvent> jsonEncoder(LoggerContext context) {
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        // The message as the text format prints it, not its {} template and arguments apart; no
        // per-line copy of the logger context or counters nobody reads.
        encoder.setWithFormattedMessage(true);
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithContext(false);
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.start();
        return encoder;
    }

    /** Starts writing the log to {@code dir}/strata.log; returns the file. */
    static Path writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE_NAME);
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return file;    // another SLF4J binding: it has its own configuration
        }
        RollingFileAppender<ILoggingEvent> appender = new RollingFileAppender<>();
        appender.setContext(context);
        appender.setName("FILE");
        appender.setFile(file.toString());

        FixedWindowRollingPolicy rolling = new FixedWindowRollingPolicy();
        rolling.setContext(context);
        rolling.setParent(appender);
        rolling.setFileNamePattern(dir.resolve("strata.%i.log.gz").toString());
        rolling.setMinIndex(1);
        rolling.setMaxIndex(5);
        rolling.start();

        SizeBasedTriggeringPolicy<ILoggingEvent> trigger = new SizeBasedTriggeringPolicy<>();
        trigger.setContext(context);
        trigger.setMaxFileSize(FileSize.valueOf("10MB"));
        trigger.start();

        Encoder<ILoggingEvent> encoder;
        if (json) {
            encoder = jsonEncoder(context);
        } else {
            PatternLayoutEncoder pattern = new PatternLayoutEncoder();
            pattern.setContext(context);
            pattern.setPattern(PATTERN);
            pattern.start();
            encoder = pattern;
        }

        appender.setRollingPolicy(rolling);
        appender.setTriggeringPolicy(trigger);
        appender.setEncoder(encoder);
        appender.start();
        context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);
        return file;
    }
}
