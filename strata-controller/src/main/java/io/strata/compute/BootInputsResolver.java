package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.agent.BootImages;
import io.strata.agent.ImageRef;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a server's image and key name into what its host needs to boot it: image references
 * (a disk, or a kernel and initramfs from the image's kernel_id/ramdisk_id) and public keys.
 */
public final class BootInputsResolver {
    private static final Logger log = LoggerFactory.getLogger(BootInputsResolver.class);

    private final ImageCatalog images;
    private final KeypairService keypairs;
    private final LaunchSource.Lookup launches;

    public BootInputsResolver(ImageCatalog images, KeypairService keypairs, LaunchSource.Lookup launches) {
        this.images = requireNonNull(images, "images is null");
        this.keypairs = requireNonNull(keypairs, "keypairs is null");
        this.launches = requireNonNull(launches, "launches is null");
    }

    /** The boot images and keys of a server, resolved when its build starts (the manager asks). */
    public ComputeManager.BuildInputs resolve(Server server) {
        return resolve(server, null);
    }

    /**
     * The same, with the server's image as its create request just read it ({@code null}: read it
     * here): three queries fewer per created server.
     */
    public ComputeManager.BuildInputs resolve(Server server, ImageCatalog.BootableImage known) {
        BootImages boot = BootImages.none();
        LaunchSource launch = launches.find(server.id()).orElse(null);
        // A clone needs no image files: it resumes from its live image, whatever became of the image.
        if (launch == null && server.imageId() != null) {
            ImageCatalog.BootableImage image = known != null && known.id().equals(server.imageId())
                    ? known
                    : images.find(ServerService.systemContext(server), server.imageId());
            Map<String, String> props = image.properties();
            ImageRef kernel = props.containsKey("kernel_id") ? ref(ServerService.systemContext(server), props.get("kernel_id")) : null;
            ImageRef ramdisk = props.containsKey("ramdisk_id") ? ref(ServerService.systemContext(server), props.get("ramdisk_id")) : null;
            // A kernel image with no separate disk boots from its initramfs; "aki/ari" images are not disks.
            boolean isDisk = !List.of("aki", "ari").contains(image.diskFormat()) && !"ami".equals(image.diskFormat());
            ImageRef disk = isDisk ? new ImageRef(image.id(), image.diskFormat(), image.checksum()) : null;
            if (kernel == null && "aki".equals(image.diskFormat())) {
                kernel = new ImageRef(image.id(), image.diskFormat(), image.checksum());
            }
            boot = new BootImages(disk, kernel, ramdisk, props.get("os_command_line"));
        }
        Map<String, String> keys = new LinkedHashMap<>();
        if (server.keyName() != null) {
            try {
                keys.put(server.keyName(), keypairs.get(server.userId(), server.keyName()).publicKey());
            } catch (CloudException e) {
                log.warn("keypair {} of server {} is gone; booting without it", server.keyName(), server.id());
            }
        }
        return new ComputeManager.BuildInputs(boot, keys, launch);
    }

    private ImageRef ref(AuthContext auth, String imageId) {
        ImageCatalog.BootableImage image = images.find(auth, imageId);
        return new ImageRef(image.id(), image.diskFormat(), image.checksum());
    }

}
