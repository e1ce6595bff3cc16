package dev.hako.vmm.sched;

/**
 * The scheduler cannot promise an entitlement: the entitlements together would exceed the host's capacity
 * (the REST API answers 409 Conflict). Nothing changed.
 */
public final class AdmissionException extends Exception {
    public AdmissionException(String message) {
        super(message);
    }
}
