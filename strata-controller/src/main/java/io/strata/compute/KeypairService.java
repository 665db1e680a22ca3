package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** Keypairs: import a public key or generate an RSA pair whose private half is shown once. */
public final class KeypairService {
    public static final int MAX_PER_USER = 100;
    private static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9 _-]+$");
    private static final Set<String> SSH_TYPES = Set.of("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com");

    private final KeypairStore store;
    private final QuotaStore locks;
    private final Clock clock;

    /** A created keypair, with the private key when it was generated here. */
    public record Created(Keypair keypair, String privateKey) {}

    /** {@code locks}: the quota lock under which a limited create counts and inserts. */
    public KeypairService(KeypairStore store, QuotaStore locks, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.locks = requireNonNull(locks, "locks is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public Created create(String userId, String name, String type, String publicKey) {
        return create(userId, MAX_PER_USER, name, type, publicKey);
    }

    /** Creates within a key_pairs quota ({@code limit} per user, -1 unlimited). */
    public Created create(String userId, long limit, String name, String type, String publicKey) {
        if (name.isEmpty() || name.length() > 255 || !NAME.matcher(name).matches()) {
            throw CloudException.badRequest("Keypair data is invalid: Keypair name contains unsafe characters");
        }
        String privateKey = null;
        String key = publicKey;
        if (key == null) {
            if (!type.equals("ssh")) {
                throw CloudException.badRequest("Keypair data is invalid: generating %s keypairs is not supported; import one instead", type);
            }
            KeyPair pair = generateRsa();
            key = openSshPublicKey((RSAPublicKey) pair.getPublic(), name);
            privateKey = pkcs1Pem(pair.getPrivate().getEncoded());
        }
        String fingerprint = type.equals("x509") ? x509Fingerprint(key) : sshFingerprint(key);
        Keypair keypair = new Keypair(0, userId, name, type, key.strip() + (type.equals("ssh") ? "\n" : ""), fingerprint,
                clock.instant().truncatedTo(ChronoUnit.MICROS));
        // Counted and inserted under the user's lock: concurrent creates cannot pass the limit together.
        boolean inserted = limit < 0 ? store.insert(keypair) : locks.underUserLock(userId, h -> {
            if (KeypairStore.count(h, userId) >= limit) {
                throw CloudException.forbidden("Quota exceeded, too many key pairs.");
            }
            return KeypairStore.insert(h, keypair);
        });
        if (!inserted) {
            throw CloudException.conflict("Key pair '%s' already exists.", name);
        }
        return new Created(store.find(userId, name).orElseThrow(), privateKey);
    }

    public Keypair get(String userId, String name) {
        return store.find(userId, name).orElseThrow(() -> CloudException.notFound("Keypair %s not found for user %s", name, userId));
    }

    public List<Keypair> list(String userId) {
        return store.list(userId);
    }

    public void delete(String userId, String name) {
        if (!store.delete(userId, name)) {
            throw CloudException.notFound("Keypair %s not found for user %s", name, userId);
        }
    }

    private static KeyPair generateRsa() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new CloudException(ErrorCode.INTERNAL, "cannot generate a keypair: " + e.getMessage(), e);
        }
    }

    /** The OpenSSH "ssh-rsa AAAA… comment" form of an RSA public key. */
    static String openSshPublicKey(RSAPublicKey key, String comment) {
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(blob)) {
            writeString(out, "ssh-rsa".getBytes(StandardCharsets.US_ASCII));
            writeString(out, key.getPublicExponent().toByteArray());
            writeString(out, key.getModulus().toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return "ssh-rsa " + Base64.getEncoder().encodeToString(blob.toByteArray()) + " Generated-by-Strata " + comment;
    }

    private static void writeString(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    /**
     * PKCS#1 ("BEGIN RSA PRIVATE KEY"), the format Nova hands out and ssh accepts. Java encodes
     * PKCS#8, whose last element is the PKCS#1 structure: unwrap it from the DER.
     */
    static String pkcs1Pem(byte[] pkcs8) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(pkcs8))) {
            readHeader(in, 0x30);        // PrivateKeyInfo SEQUENCE
            skipElement(in);            // version INTEGER
            skipElement(in);            // AlgorithmIdentifier SEQUENCE
            int length = readHeader(in, 0x04);  // privateKey OCTET STRING = RSAPrivateKey
            byte[] pkcs1 = in.readNBytes(length);
            String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pkcs1);
            return "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\n";
        } catch (IOException e) {
            throw new IllegalStateException("unexpected PKCS#8 encoding", e);
        }
    }

    private static int readHeader(DataInputStream in, int expectedTag) throws IOException {
        int tag = in.readUnsignedByte();
        if (tag != expectedTag) {
            throw new IOException("DER tag " + tag + " where " + expectedTag + " was expected");
        }
        return readLength(in);
    }

    private static void skipElement(DataInputStream in) throws IOException {
        in.readUnsignedByte();
        in.skipNBytes(readLength(in));
    }

    private static int readLength(DataInputStream in) throws IOException {
        int first = in.readUnsignedByte();
        if (first < 0x80) {
            return first;
        }
        int length = 0;
        for (int i = 0; i < (first & 0x7f); i++) {
            length = (length << 8) | in.readUnsignedByte();
        }
        return length;
    }

    /** MD5 of the key blob as aa:bb:…, as Nova and ssh-keygen -l -E md5 show it. */
    static String sshFingerprint(String publicKey) {
        String[] parts = publicKey.strip().split("\\s+");
        if (parts.length < 2 || !SSH_TYPES.contains(parts[0])) {
            throw CloudException.badRequest("Keypair data is invalid: failed to generate fingerprint");
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(blob));
            int length = in.readInt();
            if (length <= 0 || length > 64) {
                throw new IOException("bad key type length");
            }
            String embedded = new String(in.readNBytes(length), StandardCharsets.US_ASCII);
            if (!embedded.equals(parts[0])) {
                throw new IOException("key type mismatch");
            }
        } catch (IllegalArgumentException | IOException e) {
            throw CloudException.badRequest("Keypair data is invalid: failed to generate fingerprint");
        }
        return colonHex(digest("MD5", blob));
    }

    private static String x509Fingerprint(String pem) {
        try {
            var certificate = CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
            return colonHex(digest("SHA-1", certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw CloudException.badRequest("Keypair data is invalid: failed to generate X509 fingerprint");
        }
    }

    private static byte[] digest(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String colonHex(byte[] bytes) {
        return HexFormat.ofDelimiter(":").formatHex(bytes);
    }

}
