# ops: files are added here
