"""Local question answering over a folder of documents, with checked citations."""

__version__ = "0.1.0"
