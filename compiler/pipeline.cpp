// Placeholder: the pipeline lands with the command line.
