package io.strata.hypervisor.qemu;

/** How guests should run: {@code AUTO} uses KVM only if a probe guest really boots under it. */
public enum AccelMode {
    AUTO,
    KVM,
    TCG
}
