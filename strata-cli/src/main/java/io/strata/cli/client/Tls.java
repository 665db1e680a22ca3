package io.strata.cli.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How to trust a cloud's TLS certificate, as the openstack client's --os-cacert and --insecure:
 * the JDK's CAs (default), the CAs of a PEM bundle, or nothing checked at all.
 */
public record Tls(Path caBundle, boolean insecure) {
    public static Tls defaults() {
        return new Tls(null, false);
    }

    /** The SSL context for the HTTP client, or null for the JDK's default. */
    SSLContext context() {
        try {
            if (insecure) {
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(null, new TrustManager[] {new TrustingEverything()}, null);
                return context;
            }
            if (caBundle != null) {
                TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                factory.init(bundle(caBundle));
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(null, factory.getTrustManagers(), null);
                return context;
            }
            return null;
        } catch (GeneralSecurityException e) {
            throw new CliException("Cannot set up TLS: " + e.getMessage(), e);
        }
    }

    private static KeyStore bundle(Path file) throws GeneralSecurityException {
        Collection<? extends Certificate> certificates;
        try (InputStream in = Files.newInputStream(file)) {
            certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (NoSuchFileException e) {
            throw new CliException("Can't read the CA bundle " + file + ": No such file or directory");
        } catch (IOException | GeneralSecurityException e) {
            throw new CliException("Can't read the CA bundle " + file + ": " + e.getMessage());
        }
        if (certificates.isEmpty()) {
            throw new CliException("The CA bundle " + file + " holds no PEM certificates");
        }
        KeyStore store;
        try {
            store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        int n = 0;
        for (Certificate certificate : certificates) {
            store.setCertificateEntry("ca-" + n++, certificate);
        }
        return store;
    }

    /**
     * --insecure: accepts any certificate for any host name. An X509ExtendedTrustManager, so
     * that JSSE leaves the host name check to it too (and it skips that as well).
     */
    private static final class TrustingEverything extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
            // --insecure: nothing checked.
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            // --insecure: nothing checked.
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            // --insecure: nothing checked.
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            // --insecure: nothing checked.
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            // --insecure: nothing checked.
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // --insecure: nothing checked.
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
