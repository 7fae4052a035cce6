"""Analysis (reads results files only, never TensorFlow): the truth table, the audit of the
popular recipe, the regression gate, merging shards, results side by side across releases and the
TensorBoard export."""
