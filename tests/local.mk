# tests: CUnit programs are added here
