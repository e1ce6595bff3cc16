package dev.hako.mgmt.api;

import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The errors Jetty answers before a request reaches the API's routes (a malformed request line, an ambiguous
 * path such as {@code //vms}, a header too large) in the API's JSON shape, for every method (Jetty's own error
 * page is HTML, and only for GET, POST and HEAD), so that every error a client sees has a code and a message.
 */
final class JsonErrors implements Request.Handler {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int code = request.getAttribute(ErrorHandler.ERROR_STATUS) instanceof Integer status ? status
                : response.getStatus();
        String message = request.getAttribute(ErrorHandler.ERROR_MESSAGE) instanceof String m ? m
                : HttpStatus.getMessage(code);
        String kind = code == 404 ? "not_found" : code == 405 ? "method_not_allowed" : code == 413 ? "too_large"
                : code >= 500 ? "internal" : "bad_request";
        ApiHandler.error(response, callback, new ApiError(code, kind, message, null));
        return true;
    }
}
