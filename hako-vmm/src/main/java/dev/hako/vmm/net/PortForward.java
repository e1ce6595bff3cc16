package dev.hako.vmm.net;

/**
 * A host port forwarded to the guest, written as QEMU's {@code hostfwd=tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT}:
 * connections (or UDP datagrams) to HOSTADDR (every address when empty) and HOSTPORT reach the guest's GUESTPORT.
 */
public record PortForward(boolean udp, String hostAddress, int hostPort, int guestPort) {
    public PortForward {
        if (hostPort < 1 || hostPort > 65535 || guestPort < 1 || guestPort > 65535) {
            throw new IllegalArgumentException("port forward " + hostPort + " to " + guestPort
                    + ": ports are 1 to 65535");
        }
    }

    /** "tcp:127.0.0.1:2222-:22" (the text after {@code hostfwd=}). */
    public static PortForward parse(String text) {
        String usage = "hostfwd=" + text + ": expected tcp|udp:[HOSTADDR]:HOSTPORT-:GUESTPORT, e.g. "
                + "hostfwd=tcp:127.0.0.1:2222-:22";
        int protocolEnd = text.indexOf(':');
        int dash = text.indexOf("-:");
        if (protocolEnd < 0 || dash < protocolEnd) {
            throw new IllegalArgumentException(usage);
        }
        String protocol = text.substring(0, protocolEnd);
        String host = text.substring(protocolEnd + 1, dash);
        int portAt = host.lastIndexOf(':');
        if (!protocol.equals("tcp") && !protocol.equals("udp") || portAt < 0) {
            throw new IllegalArgumentException(usage);
        }
        String address = host.substring(0, portAt);
        if (!address.isEmpty() && !address.matches("[0-9.]+|[0-9a-fA-F:]+")) {
            throw new IllegalArgumentException("hostfwd=" + text + ": '" + address + "' is not an IP address");
        }
        try {
            return new PortForward(protocol.equals("udp"), address, Integer.parseInt(host.substring(portAt + 1)),
                    Integer.parseInt(text.substring(dash + 2)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage);
        }
    }

    /** passt's spelling: {@code [ADDR/]HOSTPORT:GUESTPORT} after -t or -u. */
    String passtSpec() {
        return (hostAddress.isEmpty() ? "" : hostAddress + "/") + hostPort + ":" + guestPort;
    }

    @Override
    public String toString() {
        return (udp ? "udp:" : "tcp:") + hostAddress + ":" + hostPort + "-:" + guestPort;
    }
}
