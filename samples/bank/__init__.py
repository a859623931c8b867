"""A bank: accounts opened, deposited, withdrawn (no overdraft) and transferred."""
