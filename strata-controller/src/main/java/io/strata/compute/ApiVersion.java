package io.strata.compute;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A compute API microversion ("2.47"). Requests name one in {@code OpenStack-API-Version:
 * compute 2.47} or the older {@code X-OpenStack-Nova-API-Version: 2.47}; none means the minimum,
 * "latest" the maximum, anything outside the range is 406 as Nova answers.
 */
public record ApiVersion(int major, int minor) implements Comparable<ApiVersion> {
    public static final ApiVersion MIN = new ApiVersion(2, 1);
    /** The newest microversion whose changes Strata implements for every resource it serves. */
    public static final ApiVersion MAX = new ApiVersion(2, 47);
    /** The legacy v2.0 API at /compute/v2: 2.1's shapes, no microversion headers. */
    public static final ApiVersion LEGACY = new ApiVersion(2, 0);

    private static final Pattern FORMAT = Pattern.compile("^([1-9]\\d*)\\.([1-9]\\d*|0)$");

    public static ApiVersion negotiate(String openstackHeader, String novaHeader) {
        String requested = null;
        if (openstackHeader != null) {
            for (String part : openstackHeader.split(",")) {
                String[] words = part.trim().split("\\s+");
                if (words.length == 2 && words[0].toLowerCase(Locale.ROOT).equals("compute")) {
                    requested = words[1];
                }
            }
        }
        if (requested == null) {
            requested = novaHeader;
        }
        if (requested == null || requested.isBlank()) {
            return MIN;
        }
        if (requested.trim().equalsIgnoreCase("latest")) {
            return MAX;
        }
        Matcher m = FORMAT.matcher(requested.trim());
        if (!m.matches()) {
            throw CloudException.badRequest("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", requested);
        }
        ApiVersion version = new ApiVersion(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        if (version.compareTo(MIN) < 0 || version.compareTo(MAX) > 0) {
            throw new CloudException(ErrorCode.NOT_ACCEPTABLE, "Version " + version + " is not supported by the API. Minimum is " + MIN
                    + " and maximum is " + MAX + ".");
        }
        return version;
    }

    public boolean atLeast(int major, int minor) {
        return compareTo(new ApiVersion(major, minor)) >= 0;
    }

    @Override
    public int compareTo(ApiVersion other) {
        return major != other.major ? Integer.compare(major, other.major) : Integer.compare(minor, other.minor);
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
