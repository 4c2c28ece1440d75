# runtime: files are added here
