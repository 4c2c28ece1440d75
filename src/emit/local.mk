# emit: files are added here
