"""The master patient index (主索引): features, comparisons, the Splink engine and the DB runs."""
