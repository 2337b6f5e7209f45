terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }

  # Remote state: S3 (versioned, encrypted) with DynamoDB locking. The bucket and table
  # are created once, before the first `terraform init` (docs/deployment.md, "Bootstrap").
  backend "s3" {
    bucket         = "task-manager-terraform-state"
    key            = "production/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "task-manager-terraform-locks"
    encrypt        = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "task-manager"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

# Second region: the copies of the AWS Backup plan (backup.tf) and the replica of the
# application secret. Nothing runs there; it holds what a region loss would need.
provider "aws" {
  alias  = "dr"
  region = var.dr_region

  default_tags {
    tags = {
      Project     = "task-manager"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
