package dev.hako.mgmt.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The OpenAPI 3.1 document of the API, kept in the repository beside this class as {@code openapi.json}. */
final class OpenApiDocument {
    private static final String RESOURCE = "openapi.json";
    private static volatile String text;

    private OpenApiDocument() {}

    static String text() {
        String t = text;
        if (t == null) {
            try (InputStream in = OpenApiDocument.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(RESOURCE + " is missing from hako's jar");
                }
                t = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            text = t;
        }
        return t;
    }
}
