# data: files are added here
