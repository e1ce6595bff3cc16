package dev.hako.vmm.net;

import dev.hako.devices.backend.NetBackend;
import dev.hako.devices.virtio.net.MacAddress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One network card as the user asked for it with {@code --net}: user-mode networking through passt with its port
 * forwards ({@code tap} null), or the host's TAP device {@code tap}; and the card's MAC address.
 */
public record NetSpec(String tap, List<PortForward> forwards, MacAddress mac) {
    public static final String SYNTAX = "none | user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-:GUESTPORT]...[,mac=ADDR]"
            + " | tap=NAME[,mac=ADDR]";

    public NetSpec {
        forwards = List.copyOf(forwards);
        if (tap != null && !forwards.isEmpty()) {
            throw new IllegalArgumentException("hostfwd is for --net user; a TAP device's guest is reached directly");
        }
    }

    /**
     * Parses {@code --net TEXT}; null for "none". Without mac=, the card's address is generated from
     * {@code vmName}, so that it is the same on every boot of that VM.
     */
    public static NetSpec parse(String text, String vmName) {
        String[] parts = text.split(",", -1);
        String kind = parts[0].trim();
        if (kind.equals("none") && parts.length == 1) {
            return null;
        }
        String tap = null;
        if (kind.startsWith("tap=")) {
            tap = kind.substring(4);
            if (tap.isEmpty() || tap.length() > 15 || !tap.matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException("--net " + text + ": '" + tap + "' is not a network interface "
                        + "name (1 to 15 letters, digits, '_', '.', '-')");
            }
        } else if (!kind.equals("user")) {
            throw new IllegalArgumentException("--net " + text + ": expected " + SYNTAX);
        }
        List<PortForward> forwards = new ArrayList<>();
        MacAddress mac = null;
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i].trim();
            try {
                if (part.startsWith("hostfwd=")) {
                    forwards.add(PortForward.parse(part.substring(8)));
                } else if (part.startsWith("mac=")) {
                    mac = MacAddress.parse(part.substring(4));
                } else {
                    throw new IllegalArgumentException("'" + part + "' is not hostfwd= or mac=; expected " + SYNTAX);
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--net " + text + ": " + e.getMessage());
            }
        }
        try {
            return new NetSpec(tap, forwards, mac != null ? mac : MacAddress.forName(vmName + "/" + kind));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--net " + text + ": " + e.getMessage());
        }
    }

    public boolean user() {
        return tap == null;
    }

    /** Starts passt or attaches to the TAP device. */
    public NetBackend open() throws IOException {
        return user() ? PasstBackend.start(forwards) : TapBackend.open(tap);
    }

    /**
     * The backend of a migration's destination: user networking waits for the source's passt (or starts its own
     * only once the guest left the source, {@link PasstBackend#awaitingHandover}); a TAP device is attached now.
     */
    public NetBackend openIncoming() throws IOException {
        return user() ? PasstBackend.awaitingHandover(forwards) : TapBackend.open(tap);
    }
}
