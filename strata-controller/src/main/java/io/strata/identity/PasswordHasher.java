package io.strata.identity;

import com.password4j.BcryptFunction;
import com.password4j.Password;
import com.password4j.types.Bcrypt;

/**
 * Hashes passwords with bcrypt, a deliberately slow KDF (Keystone's default too). The cost is
 * configurable because tests and benchmarks create many users; production keeps the default.
 */
public final class PasswordHasher {
    public static final int DEFAULT_COST = 10;

    private final BcryptFunction function;

    public PasswordHasher(int cost) {
        if (cost < 4 || cost > 31) {
            throw new IllegalArgumentException("bcrypt cost must be within 4..31, not " + cost);
        }
        this.function = BcryptFunction.getInstance(Bcrypt.B, cost);
    }

    public String hash(String password) {
        return Password.hash(password).with(function).getResult();
    }

    public boolean matches(String password, String hash) {
        if (hash == null || password == null) {
            return false;
        }
        return Password.check(password, hash).with(function);
    }
}
