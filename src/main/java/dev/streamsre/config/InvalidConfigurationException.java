package dev.streamsre.config;

/**
 * A configuration value that cannot work. The message names the setting (environment variable or
 * property) so that the operator can fix it from the start-up log alone.
 */
public class InvalidConfigurationException extends IllegalArgumentException {

    public InvalidConfigurationException(String message) {
        super(message);
    }
}
