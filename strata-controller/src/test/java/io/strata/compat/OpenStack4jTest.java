package io.strata.compat;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.testing.ApiClient;
import io.strata.testing.Servers;
import io.strata.testing.TestCloud;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openstack4j.api.Builders;
import org.openstack4j.api.OSClient.OSClientV3;
import org.openstack4j.model.common.Identifier;
import org.openstack4j.model.compute.Action;
import org.openstack4j.model.compute.Flavor;
import org.openstack4j.model.compute.Keypair;
import org.openstack4j.model.compute.Server;
import org.openstack4j.model.identity.v3.Project;
import org.openstack4j.openstack.OSFactory;

/**
 * openstack4j (a Java SDK we do not control) against a real Strata: Keystone v3 auth and
 * catalog, compute flavors/keypairs/servers with actions, identity projects, Glance v2 images.
 */
class OpenStack4jTest {
    private static TestCloud cloud;
    private static OSClientV3 os;

    @BeforeAll
    static void start() {
        cloud = TestCloud.start();
        os = OSFactory.builderV3()
                .endpoint(cloud.baseUrl() + "/identity/v3")
                .credentials("admin", TestCloud.ADMIN_PASSWORD, Identifier.byName("Default"))
                .scopeToProject(Identifier.byName("admin"), Identifier.byName("Default"))
                .authenticate();
    }

    @AfterAll
    static void stop() {
        cloud.close();
    }

    @Test
    void identityAndCatalog() {
        assertThat(os.getToken().getProject().getName()).isEqualTo("admin");
        List<? extends Project> projects = os.identity().projects().list();
        assertThat(projects).extracting(Project::getName).contains("admin");
    }

    @Test
    void flavorsAndKeypairs() {
        List<? extends Flavor> flavors = os.compute().flavors().list();
        assertThat(flavors).extracting(Flavor::getName).contains("m1.tiny", "m1.small");
        Keypair keypair = os.compute().keypairs().create("o4j", null);
        assertThat(keypair.getPrivateKey()).contains("PRIVATE KEY");
        assertThat(os.compute().keypairs().list()).extracting(Keypair::getName).contains("o4j");
        assertThat(os.compute().keypairs().delete("o4j").isSuccess()).isTrue();
    }

    @Test
    void serverLifecycle() {
        ApiClient admin = cloud.admin();
        String image = Servers.uploadImage(admin, "o4j-image");
        assertThat(os.imagesV2().list()).extracting(i -> i.getId()).contains(image);
        Server booted = os.compute().servers().boot(Builders.server().name("o4j-vm").flavor("1").image(image).build());
        Server active = os.compute().servers().waitForServerStatus(booted.getId(), Server.Status.ACTIVE, 30, TimeUnit.SECONDS);
        assertThat(active.getStatus()).isEqualTo(Server.Status.ACTIVE);
        assertThat(active.getAddresses().getAddresses()).containsKey("default");
        assertThat(os.compute().servers().action(booted.getId(), Action.STOP).isSuccess()).isTrue();
        assertThat(os.compute().servers().waitForServerStatus(booted.getId(), Server.Status.SHUTOFF, 30, TimeUnit.SECONDS).getStatus())
                .isEqualTo(Server.Status.SHUTOFF);
        assertThat(os.compute().servers().action(booted.getId(), Action.START).isSuccess()).isTrue();
        os.compute().servers().waitForServerStatus(booted.getId(), Server.Status.ACTIVE, 30, TimeUnit.SECONDS);
        assertThat(os.compute().servers().list()).extracting(Server::getId).contains(booted.getId());
        assertThat(os.compute().servers().delete(booted.getId()).isSuccess()).isTrue();
    }
}
