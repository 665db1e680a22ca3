package io.strata.hierarchy.energy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * IPMI through ipmitool: {@code ipmitool <options> chassis power off|on}, the options being the
 * host's (e.g. {@code -I lanplus -H BMC_IP -U user -P password}, as Snooze's wakeupSettings).
 */
public final class IpmiDriver implements WakeupDriver {
    private final String ipmitool;
    private final long timeoutSeconds;

    public IpmiDriver(String ipmitool, long timeoutSeconds) {
        this.ipmitool = ipmitool;
        this.timeoutSeconds = timeoutSeconds;
    }

    @Override
    public String name() {
        return "IPMI";
    }

    @Override
    public void powerOff(String host, String options) throws PowerException {
        run(command(options, "off"));
    }

    @Override
    public void wakeUp(String host, String options) throws PowerException {
        run(command(options, "on"));
    }

    List<String> command(String options, String action) {
        List<String> command = new ArrayList<>();
        command.add(ipmitool);
        if (options != null && !options.isBlank()) {
            command.addAll(Arrays.asList(options.strip().split("\\s+")));
        }
        command.addAll(List.of("chassis", "power", action));
        return command;
    }

    private void run(List<String> command) throws PowerException {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new PowerException("ipmitool did not finish within " + timeoutSeconds + " s");
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (process.exitValue() != 0) {
                throw new PowerException("ipmitool failed (exit " + process.exitValue() + "): " + output);
            }
        } catch (IOException e) {
            throw new PowerException("cannot run " + command.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PowerException("interrupted");
        }
    }
}
