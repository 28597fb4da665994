"""The project's exceptions: one sentence each, naming the value at fault."""


class RagError(Exception):
    """Base of every error the project raises on purpose."""


class LoadError(RagError):
    """A document could not be read; the message names the file and the reason."""


class IndexMismatchError(RagError):
    """An index was built with settings (embedder, dimension) that differ from the ones in use."""


class IndexLockedError(RagError):
    """Another process is writing the index."""


class IndexMissingError(RagError):
    """No index exists at the given path, or it holds no documents."""


class ModelNotInstalledError(RagError):
    """A model package the project needs is not installed."""


class QuestionError(RagError):
    """A question that cannot be asked: empty, or too long."""


class PromptError(RagError):
    """A prompt template is missing, or refers to a variable that was not given."""


class GenerationError(RagError):
    """The generator backend failed (server unreachable, bad reply)."""


class ConfigError(RagError):
    """A setting given on the command line does not exist or has the wrong type."""
