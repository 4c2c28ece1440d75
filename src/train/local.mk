# train: files are added here
