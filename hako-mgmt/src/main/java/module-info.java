/** The management plane: the command line, the REST API server ({@code hako serve}) and its client. */
module dev.hako.mgmt {
    requires dev.hako.usermode;
    requires dev.hako.vmm;
    requires dev.hako.devices;
    requires dev.hako.host;
    requires info.picocli;
    requires com.fasterxml.jackson.databind;
    requires org.eclipse.jetty.util;
    requires org.eclipse.jetty.io;
    requires org.eclipse.jetty.http;
    requires org.eclipse.jetty.server;
    requires org.eclipse.jetty.unixdomain.server;
    requires org.eclipse.jetty.client;
    requires org.eclipse.jetty.websocket.server;
    requires org.eclipse.jetty.websocket.client;
    requires org.eclipse.jetty.websocket.api;
    // xterm.js's webjar (an automatic module named after its jar), served by the web console from the module path.
    requires xterm;
    // Jetty's WebSocket layer finds the listeners' methods with a public lookup, which sees only packages
    // exported to everyone (their public classes: the listeners, Main, ApiServer, UnixSocketTransport).
    exports dev.hako.mgmt.api;
    exports dev.hako.mgmt.cli;
    opens dev.hako.mgmt.cli to info.picocli, org.eclipse.jetty.websocket.common;
    opens dev.hako.mgmt.api to com.fasterxml.jackson.databind, org.eclipse.jetty.websocket.common;
}
